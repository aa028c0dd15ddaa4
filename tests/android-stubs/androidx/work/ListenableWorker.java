// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
package androidx.work;

import android.content.Context;
import androidx.annotation.NonNull;

public abstract class ListenableWorker {
    public ListenableWorker(@NonNull Context appContext, @NonNull WorkerParameters workerParams) { throw new RuntimeException("stub"); }
    public final @NonNull Context getApplicationContext() { throw new RuntimeException("stub"); }

    public abstract static class Result {
        Result() {}
        public static @NonNull Result success() { throw new RuntimeException("stub"); }
        public static @NonNull Result retry() { throw new RuntimeException("stub"); }
        public static @NonNull Result failure() { throw new RuntimeException("stub"); }
    }
}
