// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
package androidx.core.view;

import android.view.View;
import androidx.annotation.NonNull;
import androidx.annotation.Nullable;

public class ViewCompat {
    protected ViewCompat() {}
    public static void requestApplyInsets(@NonNull View view) { throw new RuntimeException("stub"); }
    public static void setAccessibilityPaneTitle(@NonNull View view, @Nullable CharSequence accessibilityPaneTitle) { throw new RuntimeException("stub"); }
    public static void setAccessibilityHeading(@NonNull View view, boolean isHeading) { throw new RuntimeException("stub"); }
    public static void setOnApplyWindowInsetsListener(@NonNull View view, @Nullable OnApplyWindowInsetsListener listener) { throw new RuntimeException("stub"); }
}
