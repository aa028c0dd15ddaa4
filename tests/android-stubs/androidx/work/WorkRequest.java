// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
package androidx.work;

import androidx.annotation.NonNull;
import java.util.concurrent.TimeUnit;

public abstract class WorkRequest {
    WorkRequest() {}

    public abstract static class Builder<B extends Builder<?, ?>, W extends WorkRequest> {
        Builder(@NonNull Class<? extends ListenableWorker> workerClass) {}
        public final @NonNull B setConstraints(@NonNull Constraints constraints) { throw new RuntimeException("stub"); }
        public final @NonNull B setBackoffCriteria(@NonNull BackoffPolicy backoffPolicy, long backoffDelay, @NonNull TimeUnit timeUnit) { throw new RuntimeException("stub"); }
        public final @NonNull W build() { throw new RuntimeException("stub"); }
    }
}
