// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
package androidx.core.graphics;

public final class Insets {
    public final int left = 0;
    public final int top = 0;
    public final int right = 0;
    public final int bottom = 0;
    private Insets() {}
}
