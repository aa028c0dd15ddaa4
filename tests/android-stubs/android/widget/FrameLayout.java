// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.widget;

import android.content.Context;
import android.view.ViewGroup;

public class FrameLayout extends ViewGroup {
    public static class LayoutParams extends ViewGroup.MarginLayoutParams {
        public LayoutParams(int width, int height) { super(width, height); throw new RuntimeException("stub"); }
        public LayoutParams(int width, int height, int gravity) { super(width, height); throw new RuntimeException("stub"); }
    }

    public FrameLayout(Context context) { super(context); throw new RuntimeException("stub"); }
}
