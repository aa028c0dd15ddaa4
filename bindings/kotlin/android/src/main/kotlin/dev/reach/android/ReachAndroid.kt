package dev.reach.android

import android.content.Context
import android.os.Build
import androidx.core.content.ContextCompat
import androidx.core.content.pm.PackageInfoCompat
import androidx.core.os.ConfigurationCompat
import dev.reach.AppInfo
import dev.reach.Consent
import dev.reach.LogLevel
import dev.reach.Popup
import dev.reach.PresenterDecision
import dev.reach.Reach
import dev.reach.ReachConfig
import dev.reach.mainThreadPresenter
import java.io.File
import java.util.Locale
import java.util.TimeZone
import java.util.concurrent.atomic.AtomicBoolean

/**
 * One call from `Application.onCreate` that sets up [Reach] the Android way:
 *
 * ```
 * ReachAndroid.setup(this, consent = Consent.PENDING, serverUrl = "https://reach.example.com",
 *                    writeKey = "wk-…") { popup -> myRenderer.show(popup); ShowNowDecision }
 * Reach.track("register", mapOf("method" to "sms"))      // anywhere, any thread, also before setup
 * ```
 *
 * It only assembles what the JVM wrapper already offers: a [ReachConfig] with the data directory
 * in `noBackupFilesDir`, the app's [AppInfo], the bundled pack from `assets/`; the [LogcatLogSink];
 * the presenter through `mainThreadPresenter` on the main thread's executor; the
 * [ReachLifecycleObserver]; and, when a server is set, a [ReachUploadWorker] each time the app
 * leaves the foreground.
 */
object ReachAndroid {

    /** Under `noBackupFilesDir`; the reason is on [dataDirectory]. */
    const val DATA_DIRECTORY_NAME = "reach"

    private val lifecycleRegistered = AtomicBoolean(false)

    /**
     * Sets up the shared [Reach] and returns it. Call it once, on the main thread, from
     * `Application.onCreate` (every process of the app runs it, also one WorkManager starts in the
     * background). Cheap on the calling thread: the database opens on Reach's worker thread; the
     * bundled pack is the one small read from the APK. A second call is ignored by `Reach.setup`.
     *
     * @param consent consent at the first launch; afterwards the stored choice wins.
     * @param serverUrl the Reach server; `null` keeps Reach off the network (no upload worker).
     * @param appUrlSchemes the schemes of the app's own deep links (`myapp`, as in the manifest's
     *   intent filters): given, a popup's links must be `https:` or one of these.
     * @param bundledPackAsset the asset holding the first-run rule pack; `null` for none.
     * @param strict throw on bad input instead of logging it: for debug builds.
     * @param logSink where Reach's log lines go; Logcat by default.
     * @param configure adjusts the assembled config (limits, timeouts, transport) before opening.
     * @param presenter draws a popup; called **on the main thread** (through `mainThreadPresenter`)
     *   and answers at once. `null`: set a presenter yourself, or nothing is offered.
     */
    fun setup(
        context: Context,
        consent: Consent = Consent.PENDING,
        serverUrl: String? = null,
        writeKey: String = "",
        packPublicKeys: List<String> = emptyList(),
        appUrlSchemes: List<String> = emptyList(),
        bundledPackAsset: String? = BundledRulePack.DEFAULT_ASSET,
        strict: Boolean = false,
        logSink: ((LogLevel, String) -> Unit)? = LogcatLogSink(),
        configure: (ReachConfig) -> ReachConfig = { it },
        presenter: ((Popup) -> PresenterDecision)? = null,
    ): Reach {
        val app = context.applicationContext
        val config = configure(
            ReachConfig(
                dataDir = dataDirectory(app).path,
                app = appInfo(app),
                consent = consent,
                strict = strict,
                bundledRulePack = bundledPackAsset?.let { BundledRulePack.read(app, it) },
                serverUrl = serverUrl,
                writeKey = writeKey,
                packPublicKeys = packPublicKeys,
                appUrlSchemes = appUrlSchemes,
            ),
        )
        // Before setup, so that a popup triggered by a call buffered before setup finds it.
        if (presenter != null) {
            Reach.setPopupPresenter(mainThreadPresenter(ContextCompat.getMainExecutor(app), show = presenter))
        }
        val reach = Reach.setup(config, logSink)
        if (lifecycleRegistered.compareAndSet(false, true)) {
            val uploads = config.serverUrl != null
            ReachLifecycleObserver(onLeft = { if (uploads) ReachUploadWorker.enqueue(app) }).register()
        }
        return reach
    }

    /**
     * `noBackupFilesDir/reach`. Not `filesDir`: Android's auto-backup copies `filesDir` to the
     * user's cloud and restores it onto a new or reset device, which would give that device the
     * old one's anonymous id, session and user (two devices as one person, caps and A/B arms
     * shared) and re-upload the old queue (events twice). `noBackupFilesDir` is never backed up,
     * and is private to the app like `filesDir`.
     */
    fun dataDirectory(context: Context): File = File(context.noBackupFilesDir, DATA_DIRECTORY_NAME)

    /**
     * The app and device as every event's context carries them. Taken at setup: a locale changed
     * while the app runs applies from the next launch; the time zone is read again at each
     * `Reach.onForeground` (the wrapper does it), so travel shows from the next foreground.
     */
    fun appInfo(context: Context): AppInfo {
        @Suppress("DEPRECATION") // The flags overload is API 33+; this one works on every level.
        val pkg = context.packageManager.getPackageInfo(context.packageName, 0)
        val locale = ConfigurationCompat.getLocales(context.resources.configuration).get(0)
            ?: Locale.getDefault()
        return AppInfo(
            appVersion = pkg.versionName ?: "unknown",
            build = PackageInfoCompat.getLongVersionCode(pkg).toString(),
            platform = "android",
            osVersion = Build.VERSION.RELEASE,
            locale = locale.toLanguageTag(),
            timezone = TimeZone.getDefault().id,
        )
    }
}
