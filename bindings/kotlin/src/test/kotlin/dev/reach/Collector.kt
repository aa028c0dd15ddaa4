/**
 * A loopback Segment collector for the Kotlin tests (the JDK's HttpServer on 127.0.0.1), and the
 * smallest JSON reader that can take its batches apart: the tests run with nothing but the Kotlin
 * standard library and JNA on the class path.
 */
package dev.reach

import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger

/** Receives `/v1/batch` requests; answers [status] (200 `{"success": true}` by default). */
internal class Collector : AutoCloseable {
    private val server = com.sun.net.httpserver.HttpServer.create(java.net.InetSocketAddress("127.0.0.1", 0), 0)
    private val received: MutableList<Map<String, Any?>> = Collections.synchronizedList(mutableListOf())
    val requests = AtomicInteger()

    /** The status the next requests get; anything but 200 stores nothing. */
    @Volatile var status = 200

    init {
        server.createContext("/v1/batch") { ex ->
            requests.incrementAndGet()
            val raw = ex.requestBody.readBytes()
            val body = if (ex.requestHeaders.getFirst("Content-Encoding") == "gzip") {
                java.util.zip.GZIPInputStream(raw.inputStream()).readBytes()
            } else raw
            val answer = status
            if (answer == 200) {
                @Suppress("UNCHECKED_CAST")
                val batch = (MiniJson.parse(String(body, Charsets.UTF_8)) as Map<String, Any?>)["batch"] as List<Map<String, Any?>>
                received.addAll(batch)
            }
            val out = if (answer == 200) """{"success": true}""".toByteArray() else """{"code": "unavailable"}""".toByteArray()
            ex.sendResponseHeaders(answer, out.size.toLong())
            ex.responseBody.use { it.write(out) }
        }
        server.start()
    }

    val url: String get() = "http://127.0.0.1:${server.address.port}"

    /** Every event received, in the order they arrived. */
    fun events(): List<Map<String, Any?>> = synchronized(received) { received.toList() }

    /** The name of each received event: `event` for track, `name` for screen, else the type. */
    fun names(): List<String> = events().map { (it["event"] ?: it["name"] ?: it["type"]) as String }

    override fun close() = server.stop(0)
}

/** The upload settings for [collector], with uploads only on request (uploadNow, flush at 1M). */
internal fun ReachConfig.uploadingTo(collector: Collector) =
    copy(serverUrl = collector.url, writeKey = "wk-kotlin", uploadFlushAt = 1_000_000uL)

/** A JSON reader for test assertions: objects as maps, arrays as lists, numbers as Double. */
internal object MiniJson {
    fun parse(text: String): Any? {
        val p = Parser(text)
        val v = p.value()
        p.skipSpace()
        check(p.i == text.length) { "trailing characters at ${p.i}" }
        return v
    }

    private class Parser(val s: String) {
        var i = 0

        fun skipSpace() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            skipSpace()
            return when (s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> num()
            }
        }

        private fun literal(word: String, v: Any?): Any? {
            check(s.startsWith(word, i)) { "bad literal at $i" }
            i += word.length
            return v
        }

        private fun num(): Double {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            return s.substring(start, i).toDouble()
        }

        private fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            i++
            skipSpace()
            if (s[i] == '}') return out.also { i++ }
            while (true) {
                skipSpace()
                val k = str()
                skipSpace()
                check(s[i] == ':') { "expected ':' at $i" }
                i++
                out[k] = value()
                skipSpace()
                if (s[i++] == '}') return out
            }
        }

        private fun arr(): List<Any?> {
            val out = ArrayList<Any?>()
            i++
            skipSpace()
            if (s[i] == ']') return out.also { i++ }
            while (true) {
                out.add(value())
                skipSpace()
                if (s[i++] == ']') return out
            }
        }

        private fun str(): String {
            check(s[i] == '"') { "expected a string at $i" }
            i++
            val sb = StringBuilder()
            while (s[i] != '"') {
                if (s[i] == '\\') {
                    i++
                    when (val c = s[i]) {
                        'n' -> sb.append('\n')
                        't' -> sb.append('\t')
                        'r' -> sb.append('\r')
                        'b' -> sb.append('\b')
                        'f' -> sb.append('\u000c')
                        'u' -> {
                            sb.append(s.substring(i + 1, i + 5).toInt(16).toChar())
                            i += 4
                        }
                        else -> sb.append(c)
                    }
                } else {
                    sb.append(s[i])
                }
                i++
            }
            i++
            return sb.toString()
        }
    }
}
