// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.view;

public class Gravity {
    public static final int TOP = 48;
    public static final int CENTER_VERTICAL = 16;
    public static final int CENTER_HORIZONTAL = 1;
    public static final int CENTER = 17;
    public static final int END = 8388613;
    public Gravity() { throw new RuntimeException("stub"); }
}
