// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
// (Kotlin upstream since lifecycle 2.6: `companion object { @JvmStatic fun get(): LifecycleOwner }`.)
package androidx.lifecycle;

import androidx.annotation.NonNull;

public final class ProcessLifecycleOwner implements LifecycleOwner {
    private ProcessLifecycleOwner() {}
    public static @NonNull LifecycleOwner get() { throw new RuntimeException("stub"); }
    @Override public @NonNull Lifecycle getLifecycle() { throw new RuntimeException("stub"); }
}
