// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.app;

import android.content.ContextWrapper;
import android.content.Intent;
import android.os.Bundle;
import android.view.View;
import android.view.Window;

public class Activity extends ContextWrapper {
    public Activity() { super(null); throw new RuntimeException("stub"); }
    protected void onCreate(Bundle savedInstanceState) { throw new RuntimeException("stub"); }
    protected void onNewIntent(Intent intent) { throw new RuntimeException("stub"); }
    protected void onResume() { throw new RuntimeException("stub"); }
    protected void onPause() { throw new RuntimeException("stub"); }
    protected void onDestroy() { throw new RuntimeException("stub"); }
    /** Deprecated in API 33 (OnBackInvokedCallback). */
    @Deprecated
    public void onBackPressed() { throw new RuntimeException("stub"); }
    public Intent getIntent() { throw new RuntimeException("stub"); }
    public void setIntent(Intent newIntent) { throw new RuntimeException("stub"); }
    public final Application getApplication() { throw new RuntimeException("stub"); }
    public Window getWindow() { throw new RuntimeException("stub"); }
    public void setContentView(View view) { throw new RuntimeException("stub"); }
    public <T extends View> T findViewById(int id) { throw new RuntimeException("stub"); }
}
