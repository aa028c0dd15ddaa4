// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.content;

import android.content.pm.PackageManager;
import android.content.res.AssetManager;
import android.content.res.Resources;
import java.io.File;

public class ContextWrapper extends Context {
    public ContextWrapper(Context base) { throw new RuntimeException("stub"); }
    @Override public Context getApplicationContext() { throw new RuntimeException("stub"); }
    @Override public AssetManager getAssets() { throw new RuntimeException("stub"); }
    @Override public File getNoBackupFilesDir() { throw new RuntimeException("stub"); }
    @Override public PackageManager getPackageManager() { throw new RuntimeException("stub"); }
    @Override public String getPackageName() { throw new RuntimeException("stub"); }
    @Override public Resources getResources() { throw new RuntimeException("stub"); }
    @Override public void startActivity(Intent intent) { throw new RuntimeException("stub"); }
}
