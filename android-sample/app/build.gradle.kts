import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.reach.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.reach.sample"
        minSdk = 23
        // 35: Android 15 draws this app edge to edge, which the popups must handle.
        targetSdk = 35
        versionCode = 1
        versionName = "1.0"
    }

    buildTypes {
        release {
            // R8 on, as in a store build, so that `installRelease` proves the Reach module's
            // consumer rules keep JNA and the generated bindings alive.
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"))
            // Signed with the debug key only so that the sample's release build installs locally.
            signingConfig = signingConfigs.getByName("debug")
        }
    }

    buildFeatures {
        buildConfig = true
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
    implementation(project(":reach"))
    // Window insets and edge-to-edge on every API level (androidx.core, not AppCompat).
    implementation("androidx.core:core:1.15.0")
}
