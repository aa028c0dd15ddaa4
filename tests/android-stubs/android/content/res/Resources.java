// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.content.res;

import android.util.DisplayMetrics;

public class Resources {
    private Resources() {}
    public Configuration getConfiguration() { throw new RuntimeException("stub"); }
    public DisplayMetrics getDisplayMetrics() { throw new RuntimeException("stub"); }
}
