// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.view;

import android.content.Context;
import android.content.res.Resources;
import android.graphics.drawable.Drawable;

public class View {
    public static final int IMPORTANT_FOR_ACCESSIBILITY_AUTO = 0x00000000;
    public static final int IMPORTANT_FOR_ACCESSIBILITY_NO_HIDE_DESCENDANTS = 0x00000004;

    public interface OnClickListener {
        void onClick(View v);
    }

    public View(Context context) { throw new RuntimeException("stub"); }
    public Resources getResources() { throw new RuntimeException("stub"); }
    public boolean post(Runnable action) { throw new RuntimeException("stub"); }
    public boolean postDelayed(Runnable action, long delayMillis) { throw new RuntimeException("stub"); }
    public void setOnClickListener(OnClickListener l) { throw new RuntimeException("stub"); }
    public void setBackgroundColor(int color) { throw new RuntimeException("stub"); }
    public void setBackground(Drawable background) { throw new RuntimeException("stub"); }
    public Drawable getBackground() { throw new RuntimeException("stub"); }
    public void setClickable(boolean clickable) { throw new RuntimeException("stub"); }
    public boolean isClickable() { throw new RuntimeException("stub"); }
    public void setPadding(int left, int top, int right, int bottom) { throw new RuntimeException("stub"); }
    public int getPaddingLeft() { throw new RuntimeException("stub"); }
    public int getPaddingTop() { throw new RuntimeException("stub"); }
    public int getPaddingRight() { throw new RuntimeException("stub"); }
    public int getPaddingBottom() { throw new RuntimeException("stub"); }
    public void setContentDescription(CharSequence contentDescription) { throw new RuntimeException("stub"); }
    public CharSequence getContentDescription() { throw new RuntimeException("stub"); }
    public void setImportantForAccessibility(int mode) { throw new RuntimeException("stub"); }
    public int getImportantForAccessibility() { throw new RuntimeException("stub"); }
}
