// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android;

public final class R {
    public static final class id {
        public static final int content = 0x01020002;
    }
}
