package dev.reach

import dev.reach.ffi.PropertyValue
import dev.reach.ffi.PropertyValue.BoolValue
import dev.reach.ffi.PropertyValue.FloatValue
import dev.reach.ffi.PropertyValue.IntValue
import dev.reach.ffi.PropertyValue.StringListValue
import dev.reach.ffi.PropertyValue.StringValue
import dev.reach.ffi.PropertyValue.TimestampValue
import dev.reach.ffi.PropertyValue.UnsupportedValue

/**
 * Converts the `Map<String, Any?>` apps pass into the typed values the core stores.
 *
 * Never throws and never drops a property: a value it cannot convert becomes
 * [UnsupportedValue] carrying a precise type name, so the core refuses the event with a reason
 * (logged, counted under `unsupported_value`, or thrown in strict mode). Dropping the property
 * here instead would store a silently different event.
 */
internal object PropertyConversion {

    fun convert(properties: Map<String, Any?>): Map<String, PropertyValue> {
        if (properties.isEmpty()) return emptyMap()
        val out = HashMap<String, PropertyValue>(properties.size * 2)
        for ((key, value) in properties) out[key] = toPropertyValue(value)
        return out
    }

    fun toPropertyValue(value: Any?): PropertyValue = when (value) {
        null -> UnsupportedValue("null")
        // Already typed by the caller, e.g. a Long that is a timestamp.
        is PropertyValue -> value
        is String -> StringValue(value)
        is Long -> IntValue(value)
        is Int -> IntValue(value.toLong())
        is Short -> IntValue(value.toLong())
        is Byte -> IntValue(value.toLong())
        is Double -> FloatValue(value)
        // Widened through its decimal text: 0.1f becomes 0.1, not 0.10000000149011612, which is
        // what the developer wrote and what a dashboard should show. NaN and infinities survive
        // the round trip, so the core still refuses them as `non_finite_float`.
        is Float -> FloatValue(value.toString().toDouble())
        is Boolean -> BoolValue(value)
        // Covers java.sql.Timestamp and other subclasses too.
        is java.util.Date -> TimestampValue(value.time)
        is java.time.Instant -> instant(value)
        // Unsigned integers are lossless as i64, except a ULong above Long.MAX_VALUE.
        is UInt -> IntValue(value.toLong())
        is UShort -> IntValue(value.toLong())
        is UByte -> IntValue(value.toLong())
        is ULong ->
            if (value <= Long.MAX_VALUE.toULong()) IntValue(value.toLong())
            else UnsupportedValue("kotlin.ULong above ${Long.MAX_VALUE}")
        is Collection<*> -> stringList(value)
        is Array<*> -> stringList(value.asList())
        // typeName, not name: an IntArray reads "int[]" rather than "[I".
        else -> UnsupportedValue(value.javaClass.typeName)
    }

    private fun instant(value: java.time.Instant): PropertyValue = try {
        TimestampValue(value.toEpochMilli())
    } catch (_: ArithmeticException) {
        UnsupportedValue("java.time.Instant outside the epoch-millisecond range")
    }

    /** Only a list of non-null strings is storable; the message names the first element that is not. */
    private fun stringList(items: Collection<*>): PropertyValue {
        val strings = ArrayList<String>(items.size)
        for (item in items) {
            if (item !is String) return UnsupportedValue("list containing ${typeName(item)}")
            strings.add(item)
        }
        return StringListValue(strings)
    }

    private fun typeName(value: Any?): String = value?.javaClass?.typeName ?: "null"
}
