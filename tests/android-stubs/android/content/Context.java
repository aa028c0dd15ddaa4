// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.content;

import android.content.pm.PackageManager;
import android.content.res.AssetManager;
import android.content.res.Resources;
import java.io.File;

public abstract class Context {
    public abstract Context getApplicationContext();
    public abstract AssetManager getAssets();
    public abstract File getNoBackupFilesDir();
    public abstract PackageManager getPackageManager();
    public abstract String getPackageName();
    public abstract Resources getResources();
    public final String getString(int resId) { throw new RuntimeException("stub"); }
    public abstract void startActivity(Intent intent);
}
