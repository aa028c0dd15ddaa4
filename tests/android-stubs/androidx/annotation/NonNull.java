// Stand-in for AndroidX (the versions in bindings/kotlin/android/build.gradle.kts), only so that
// scripts/check-android-layer.sh can type-check the Reach calls of bindings/kotlin/android and
// android-sample without the SDK. Each signature is the documented one (package, class, method,
// parameter types, and the androidx.annotation nullability, which Kotlin reads as from the real
// artifact); bodies throw.
package androidx.annotation;

import static java.lang.annotation.ElementType.*;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

@Retention(RetentionPolicy.CLASS)
@Target({METHOD, PARAMETER, FIELD, LOCAL_VARIABLE, ANNOTATION_TYPE, PACKAGE})
public @interface NonNull {}
