// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.widget;

import android.content.Context;
import android.graphics.Typeface;
import android.view.View;

public class TextView extends View {
    public TextView(Context context) { super(context); throw new RuntimeException("stub"); }
    public CharSequence getText() { throw new RuntimeException("stub"); }
    public final void setText(CharSequence text) { throw new RuntimeException("stub"); }
    public final void setText(int resid) { throw new RuntimeException("stub"); }
    public float getTextSize() { throw new RuntimeException("stub"); }
    public void setTextSize(float size) { throw new RuntimeException("stub"); }
    public Typeface getTypeface() { throw new RuntimeException("stub"); }
    public void setTypeface(Typeface tf, int style) { throw new RuntimeException("stub"); }
    public void setTypeface(Typeface tf) { throw new RuntimeException("stub"); }
    public int getGravity() { throw new RuntimeException("stub"); }
    public void setGravity(int gravity) { throw new RuntimeException("stub"); }
}
