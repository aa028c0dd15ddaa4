// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
// (Kotlin upstream since lifecycle 2.6: an interface whose methods have empty default bodies.)
package androidx.lifecycle;

import androidx.annotation.NonNull;

public interface DefaultLifecycleObserver extends LifecycleObserver {
    default void onCreate(@NonNull LifecycleOwner owner) {}
    default void onStart(@NonNull LifecycleOwner owner) {}
    default void onResume(@NonNull LifecycleOwner owner) {}
    default void onPause(@NonNull LifecycleOwner owner) {}
    default void onStop(@NonNull LifecycleOwner owner) {}
    default void onDestroy(@NonNull LifecycleOwner owner) {}
}
