// `[String: Any]` → `[String: PropertyValue]`.
//
// The one piece of real logic in the wrapper, because `Any` is treacherous:
// Foundation bridges numbers through `NSNumber`, so a naive `value as? Int`
// turns `true` into 1 and `value as? Bool` turns 1 (or an `Int8` 0) into a
// Bool, and the result differs between Darwin and Linux. Every check below
// therefore looks at the value's exact dynamic type first and never relies on
// a bridging cast to decide what a value is.

import Foundation
import ReachFFI

extension Reach {
    /// Converts a property map as `track(_:_:)`, `screen(_:_:)` and
    /// `setUserProperties(_:)` do. Public so an app (or its tests) can check how
    /// a value will be recorded.
    public static func propertyValues(_ properties: [String: Any]) -> [String: PropertyValue] {
        properties.mapValues(propertyValue)
    }

    /// Converts one property value:
    ///
    /// | Swift value | recorded as |
    /// |---|---|
    /// | `String`, `Substring`, `NSString` | `stringValue` |
    /// | `Int`, `Int8`…`Int64`, `UInt8`…`UInt32`, `UInt`/`UInt64` up to `Int64.max` | `intValue` |
    /// | `Double`, `Float`, `CGFloat` | `floatValue` (NaN and infinity are refused by the core) |
    /// | `Bool` | `boolValue` |
    /// | `Date`, `NSDate` | `timestampValue`, milliseconds since 1970 UTC |
    /// | `[String]`, or an `[Any]`/`NSArray` holding only strings | `stringListValue` |
    /// | `NSNumber` (from JSON, Objective-C) | by what it holds: a boolean stays a `Bool`, 1 stays an `Int` |
    /// | `Optional.some(x)` | as `x` |
    /// | `PropertyValue` | as is |
    ///
    /// Anything else (`nil`, `NSNull`, `[Int]`, dictionaries, `Decimal`, `URL`,
    /// your own types, integers beyond `Int64`) becomes
    /// `unsupportedValue(typeName:)`. The core then refuses the event with a
    /// reason that names the type, counts it under `unsupported_value` in
    /// `diagnostics()`, and throws in strict mode. The wrapper never drops a
    /// property silently and never guesses a lossy conversion (`Decimal` to
    /// `Double`, a URL to a string): the developer decides.
    public static func propertyValue(_ value: Any) -> PropertyValue {
        let type = Swift.type(of: value)

        // Already typed by the caller, e.g. an Int64 that is a timestamp:
        // `["at": PropertyValue.timestampValue(epochMs: ms)]`.
        if type == PropertyValue.self { return value as! PropertyValue }

        // Exact native types first: `true` must never reach a numeric branch.
        if type == Bool.self { return .boolValue(value: value as! Bool) }
        if type == String.self { return .stringValue(value: value as! String) }
        if type == Substring.self { return .stringValue(value: String(value as! Substring)) }
        if let int = nativeInteger(value, type) { return int }
        if type == Double.self { return .floatValue(value: value as! Double) }
        if type == Float.self { return .floatValue(value: double(fromFloat: value as! Float)) }
        if type == CGFloat.self { return .floatValue(value: Double(value as! CGFloat)) }
        if type == Date.self { return timestamp(value as! Date, type) }
        if type == [String].self { return .stringListValue(values: value as! [String]) }

        // Foundation objects (JSONSerialization, Objective-C APIs, UserDefaults).
        if type is NSNumber.Type { return number(value as! NSNumber, type) }
        if type is NSString.Type { return .stringValue(value: (value as! NSString).description) }
        if type is NSDate.Type {
            let date = Date(timeIntervalSince1970: (value as! NSDate).timeIntervalSince1970)
            return timestamp(date, type)
        }
        if type == [Any].self || type == [AnyObject].self || type == [NSString].self
            || type is NSArray.Type
        {
            return stringList(value, type)
        }

        // `Any` can hold an Optional (e.g. `["k": maybeInt as Any]`): unwrap
        // `.some`, refuse `.none`. Checked last because reflection is the
        // slowest test and common values never need it.
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            if let wrapped = mirror.children.first?.value {
                return propertyValue(wrapped)
            }
        }

        return .unsupportedValue(typeName: String(describing: type))
    }

    private static func nativeInteger(_ value: Any, _ type: Any.Type) -> PropertyValue? {
        switch value {
        case let v as Int where type == Int.self: return .intValue(value: Int64(v))
        case let v as Int8 where type == Int8.self: return .intValue(value: Int64(v))
        case let v as Int16 where type == Int16.self: return .intValue(value: Int64(v))
        case let v as Int32 where type == Int32.self: return .intValue(value: Int64(v))
        case let v as Int64 where type == Int64.self: return .intValue(value: v)
        case let v as UInt8 where type == UInt8.self: return .intValue(value: Int64(v))
        case let v as UInt16 where type == UInt16.self: return .intValue(value: Int64(v))
        case let v as UInt32 where type == UInt32.self: return .intValue(value: Int64(v))
        case let v as UInt where type == UInt.self: return unsigned(UInt64(v), type)
        case let v as UInt64 where type == UInt64.self: return unsigned(v, type)
        default: return nil
        }
    }

    /// The core stores 64-bit signed integers; a larger unsigned value would
    /// wrap or lose precision, so it is refused rather than altered.
    private static func unsigned(_ v: UInt64, _ type: Any.Type) -> PropertyValue {
        if let exact = Int64(exactly: v) { return .intValue(value: exact) }
        return .unsupportedValue(typeName: "\(type) above Int64.max")
    }

    /// `Float(0.1)` widened bit for bit is 0.10000000149011612; going through
    /// its shortest decimal text records the 0.1 the developer wrote.
    private static func double(fromFloat f: Float) -> Double {
        f.isFinite ? (Double(f.description) ?? Double(f)) : Double(f)
    }

    private static func timestamp(_ date: Date, _ type: Any.Type) -> PropertyValue {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        // Int64(ms) would trap beyond ±292 million years; refuse instead.
        guard let epochMs = Int64(exactly: ms) else {
            return .unsupportedValue(typeName: "\(type) out of range")
        }
        return .timestampValue(epochMs: epochMs)
    }

    /// The class of a boolean NSNumber (`__NSCFBoolean` on Darwin and in
    /// swift-corelibs-foundation). Taken from a real instance rather than by
    /// name, and compared by identity: `objCType` alone cannot tell a boolean
    /// from an `Int8` (both are "c" on Darwin).
    private static let booleanNumberClass = ObjectIdentifier(Swift.type(of: NSNumber(value: true)))

    private static func number(_ n: NSNumber, _ type: Any.Type) -> PropertyValue {
        if n is NSDecimalNumber {
            return .unsupportedValue(typeName: String(describing: type))
        }
        if ObjectIdentifier(Swift.type(of: n)) == booleanNumberClass {
            return .boolValue(value: n.boolValue)
        }
        switch UInt8(bitPattern: n.objCType.pointee) {
        case UInt8(ascii: "c"), UInt8(ascii: "s"), UInt8(ascii: "i"), UInt8(ascii: "l"),
            UInt8(ascii: "q"), UInt8(ascii: "C"), UInt8(ascii: "S"), UInt8(ascii: "I"):
            return .intValue(value: n.int64Value)
        case UInt8(ascii: "L"), UInt8(ascii: "Q"):
            return unsigned(n.uint64Value, type)
        case UInt8(ascii: "f"):
            return .floatValue(value: double(fromFloat: n.floatValue))
        case UInt8(ascii: "d"):
            return .floatValue(value: n.doubleValue)
        default:
            return .unsupportedValue(typeName: String(describing: type))
        }
    }

    /// An untyped array (decoded JSON, an `NSArray`) is a string list when every
    /// element is a string. A typed `[Int]` never gets here: it is refused by
    /// its type, even when empty.
    private static func stringList(_ value: Any, _ type: Any.Type) -> PropertyValue {
        let elements: [Any]
        if type is NSArray.Type, let array = value as? NSArray {
            elements = array.map { $0 }
        } else if let array = value as? [Any] {
            // Not `as? NSArray` first: on Linux that bridges a Swift array and
            // turns its Ints into NSNumbers, blurring the type named on refusal.
            elements = array
        } else {
            return .unsupportedValue(typeName: String(describing: type))
        }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard case .stringValue(let s) = propertyValue(element) else {
                let elementType = Swift.type(of: element)
                return .unsupportedValue(typeName: "\(type) containing \(elementType)")
            }
            strings.append(s)
        }
        return .stringListValue(values: strings)
    }
}
