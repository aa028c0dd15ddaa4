// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.view;

import android.content.Context;

public abstract class ViewGroup extends View {
    public static class LayoutParams {
        public static final int MATCH_PARENT = -1;
        public static final int WRAP_CONTENT = -2;
        public LayoutParams(int width, int height) { throw new RuntimeException("stub"); }
    }

    public static class MarginLayoutParams extends LayoutParams {
        public int leftMargin;
        public int topMargin;
        public int rightMargin;
        public int bottomMargin;
        public MarginLayoutParams(int width, int height) { super(width, height); throw new RuntimeException("stub"); }
    }

    public ViewGroup(Context context) { super(context); throw new RuntimeException("stub"); }
    public void addView(View child) { throw new RuntimeException("stub"); }
    public void addView(View child, LayoutParams params) { throw new RuntimeException("stub"); }
    public void removeView(View view) { throw new RuntimeException("stub"); }
    public int getChildCount() { throw new RuntimeException("stub"); }
    public View getChildAt(int index) { throw new RuntimeException("stub"); }
}
