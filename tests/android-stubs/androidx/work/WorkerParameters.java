// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
package androidx.work;

public final class WorkerParameters {
    private WorkerParameters() {}
}
