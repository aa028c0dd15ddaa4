// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.graphics.drawable;

public class GradientDrawable extends Drawable {
    public GradientDrawable() { throw new RuntimeException("stub"); }
    public void setColor(int argb) { throw new RuntimeException("stub"); }
    public void setCornerRadius(float radius) { throw new RuntimeException("stub"); }
    /** API 24. */
    public float getCornerRadius() { throw new RuntimeException("stub"); }
}
