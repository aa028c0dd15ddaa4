// Stand-in for the Android SDK (android.jar, compileSdk 35), only so that scripts/check-android-layer.sh
// can type-check the Reach calls of bindings/kotlin/android and android-sample without the SDK. The
// signature is the documented one (same package, class, method, parameter types); bodies throw.
// Unannotated, as android.jar is to Kotlin: its types are platform types.
package android.content.pm;

public abstract class PackageManager {
    public static class NameNotFoundException extends android.util.AndroidException {
        public NameNotFoundException() { throw new RuntimeException("stub"); }
    }
    /** Deprecated in API 33 for the PackageInfoFlags overload. */
    @Deprecated
    public abstract PackageInfo getPackageInfo(String packageName, int flags) throws NameNotFoundException;
}
