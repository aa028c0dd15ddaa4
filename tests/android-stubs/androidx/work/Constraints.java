// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
package androidx.work;

import androidx.annotation.NonNull;

public final class Constraints {
    private Constraints() {}

    public static final class Builder {
        public Builder() { throw new RuntimeException("stub"); }
        public @NonNull Builder setRequiredNetworkType(@NonNull NetworkType networkType) { throw new RuntimeException("stub"); }
        public @NonNull Constraints build() { throw new RuntimeException("stub"); }
    }
}
