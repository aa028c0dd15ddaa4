// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.app;

public class NotificationManager {
    public static final int IMPORTANCE_DEFAULT = 3;
    NotificationManager() { throw new RuntimeException("stub"); }
    public void createNotificationChannel(NotificationChannel channel) { throw new RuntimeException("stub"); }
    public void notify(String tag, int id, Notification notification) { throw new RuntimeException("stub"); }
    public void cancel(String tag, int id) { throw new RuntimeException("stub"); }
}
