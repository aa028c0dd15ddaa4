package dev.reach.android

import android.content.Context
import java.io.FileNotFoundException

/**
 * The rule pack an app ships in its `assets/`, so that campaigns work on the first launch, offline,
 * before any sync (`ReachConfig.bundledRulePack`). Reach validates it when it opens; a refused pack
 * is logged at ERROR and no campaign is active, so a broken asset never crashes the app.
 */
object BundledRulePack {

    /** Where [ReachAndroid.setup] looks by default: `src/main/assets/reach-pack.json`. */
    const val DEFAULT_ASSET = "reach-pack.json"

    /**
     * The text of the asset [name], or `null` when the app ships none. Reads from the APK (a few
     * kilobytes, memory-mapped): the one small read that setup does on the calling thread.
     */
    fun read(context: Context, name: String = DEFAULT_ASSET): String? = try {
        context.assets.open(name).bufferedReader(Charsets.UTF_8).use { it.readText() }
    } catch (_: FileNotFoundException) {
        null
    }
}
