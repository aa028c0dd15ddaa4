// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.app;

public class AlarmManager {
    public static final int RTC_WAKEUP = 0;
    AlarmManager() { throw new RuntimeException("stub"); }
    public void set(int type, long triggerAtMillis, PendingIntent operation) { throw new RuntimeException("stub"); }
    public void cancel(PendingIntent operation) { throw new RuntimeException("stub"); }
}
