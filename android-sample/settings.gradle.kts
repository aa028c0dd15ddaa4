// The sample app and the Reach library module, included by path so the sample always builds
// against the wrapper and the libraries of this checkout.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "reach-android-sample"
include(":app")
include(":reach")
project(":reach").projectDir = file("../bindings/kotlin/android")
