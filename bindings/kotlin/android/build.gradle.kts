// The Android library (AAR) of Reach: the JVM wrapper (../src/main/kotlin, the same sources the JVM
// tests compile), the Kotlin that uniffi generates (target/bindings/kotlin), the native libraries
// (src/main/jniLibs/<abi>/libreach.so) and the Android adapters (src/main/kotlin/dev/reach/android).
// scripts/build-android.sh produces the generated Kotlin and the libraries; both are build outputs,
// never committed. This module is built from a consuming Gradle build (android-sample/, or an app
// that includes it by path), whose settings choose the plugin versions.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val repoRoot = projectDir.resolve("../../..")
val generatedBindings = repoRoot.resolve("target/bindings/kotlin")

android {
    namespace = "dev.reach.android"
    compileSdk = 35

    defaultConfig {
        minSdk = 23
        // Shipped inside the AAR and applied to the app's R8 run: without them a release build
        // strips JNA and the generated classes, and crashes at the first Reach call.
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            kotlin.srcDir(repoRoot.resolve("bindings/kotlin/src/main/kotlin"))
            kotlin.srcDir(generatedBindings)
            // src/main/jniLibs is AGP's default location, where build-android.sh writes.
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    // JNA's Android artifact (the AAR) carries libjnidispatch.so for the Android ABIs; the plain jar
    // has desktop natives only, and an app built with it fails to load Reach.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    // ContextCompat.getMainExecutor, PackageInfoCompat, ConfigurationCompat.
    implementation("androidx.core:core:1.15.0")
    // ProcessLifecycleOwner: the app's foreground/background, not one Activity's.
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    // ReachUploadWorker.
    implementation("androidx.work:work-runtime:2.10.0")
}

// A missing generated file would otherwise surface as dozens of "unresolved reference: ffi" errors.
val checkGeneratedBindings by tasks.registering {
    val marker = generatedBindings.resolve("dev/reach/ffi")
    doLast {
        check(marker.isDirectory) {
            "no generated Kotlin bindings in $marker: run scripts/build-android.sh first"
        }
    }
}
tasks.named("preBuild") { dependsOn(checkGeneratedBindings) }
