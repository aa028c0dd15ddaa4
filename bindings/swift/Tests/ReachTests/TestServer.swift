// A loopback collector for the upload tests: answers `POST /v1/batch` with 200 and keeps
// the events it received, decoded (Reach gzips every batch: `gunzip` below is a small
// inflate, enough for the tests; Foundation has none on Linux). Anything else is a 404
// (rule pack sync), which Reach logs and ignores. One connection at a time, each closed
// after its answer: the tests send a few batches, not traffic.

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

final class CollectorServer: @unchecked Sendable {
    let port: UInt16
    private let socketFd: Int32
    private let lock = NSLock()
    private var received: [[String: Any]] = []
    private var stopped = false

    var url: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0  // any free port
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0
                    && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind/listen failed") }
        socketFd = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.name = "collector-server"
        thread.start()
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        shutdown(socketFd, 2)  // SHUT_RDWR: wakes the blocked accept()
        close(socketFd)
    }

    /// The events received so far, in the order of the batches and of each batch.
    var events: [[String: Any]] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    private func serve() {
        while true {
            let client = accept(socketFd, nil, nil)
            if client < 0 {
                lock.lock()
                let done = stopped
                lock.unlock()
                if done { return }
                continue
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            data.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = CollectorServer.find([13, 10, 13, 10], in: data) {
                headerEnd = end + 4
                let head = String(decoding: data[0..<end], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let start = headerEnd, data.count >= start + contentLength {
                let head = String(decoding: data[0..<start], as: UTF8.self)
                let body = Array(data[start..<(start + contentLength)])
                let ok = head.hasPrefix("POST /v1/batch") && record(body)
                let answer =
                    ok
                    ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"success\":true}"
                    : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = answer.utf8CString.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count - 1) }
                return
            }
        }
    }

    private func record(_ body: [UInt8]) -> Bool {
        guard let json = gunzip(body),
            let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
            let batch = object["batch"] as? [[String: Any]]
        else { return false }
        lock.lock()
        received.append(contentsOf: batch)
        lock.unlock()
        return true
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
}

// MARK: - gunzip (RFC 1952 around RFC 1951 inflate)

func gunzip(_ bytes: [UInt8]) -> [UInt8]? {
    guard bytes.count > 18, bytes[0] == 0x1f, bytes[1] == 0x8b, bytes[2] == 8 else { return nil }
    let flags = bytes[3]
    var position = 10
    if flags & 4 != 0 { position += 2 + Int(bytes[position]) + Int(bytes[position + 1]) << 8 }
    if flags & 8 != 0 { while bytes[position] != 0 { position += 1 }; position += 1 }
    if flags & 16 != 0 { while bytes[position] != 0 { position += 1 }; position += 1 }
    if flags & 2 != 0 { position += 2 }
    var inflater = Inflater(bytes, from: position)
    return inflater.run()
}

private struct Inflater {
    let input: [UInt8]
    var position: Int
    var bitBuffer = 0
    var bitCount = 0
    var output: [UInt8] = []

    init(_ input: [UInt8], from position: Int) {
        self.input = input
        self.position = position
    }

    mutating func bits(_ n: Int) -> Int? {
        while bitCount < n {
            guard position < input.count else { return nil }
            bitBuffer |= Int(input[position]) << bitCount
            position += 1
            bitCount += 8
        }
        let value = bitBuffer & ((1 << n) - 1)
        bitBuffer >>= n
        bitCount -= n
        return value
    }

    /// A canonical Huffman code: counts per length and symbols in code order.
    struct Code {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []
        init(lengths: [Int]) {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var offsets = [Int](repeating: 0, count: 16)
            for l in 1..<16 { offsets[l] = offsets[l - 1] + counts[l - 1] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }
    }

    mutating func decode(_ code: Code) -> Int? {
        var value = 0, first = 0, index = 0
        for length in 1..<16 {
            guard let bit = bits(1) else { return nil }
            value |= bit
            let count = code.counts[length]
            if value - count < first { return code.symbols[index + (value - first)] }
            index += count
            first = (first + count) << 1
            value <<= 1
        }
        return nil
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    mutating func run() -> [UInt8]? {
        var last = 0
        repeat {
            guard let isFinal = bits(1), let type = bits(2) else { return nil }
            last = isFinal
            switch type {
            case 0:
                bitBuffer = 0
                bitCount = 0
                guard position + 4 <= input.count else { return nil }
                let length = Int(input[position]) | Int(input[position + 1]) << 8
                position += 4
                guard position + length <= input.count else { return nil }
                output.append(contentsOf: input[position..<(position + length)])
                position += length
            case 1:
                var lengths = [Int](repeating: 8, count: 288)
                for i in 144..<256 { lengths[i] = 9 }
                for i in 256..<280 { lengths[i] = 7 }
                guard block(Code(lengths: lengths), Code(lengths: [Int](repeating: 5, count: 30))) else { return nil }
            case 2:
                guard let codes = dynamicCodes(), block(codes.0, codes.1) else { return nil }
            default:
                return nil
            }
        } while last == 0
        return output
    }

    mutating func dynamicCodes() -> (Code, Code)? {
        guard let hlit = bits(5), let hdist = bits(5), let hclen = bits(4) else { return nil }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<(hclen + 4) {
            guard let l = bits(3) else { return nil }
            codeLengths[order[i]] = l
        }
        let lengthCode = Code(lengths: codeLengths)
        var lengths: [Int] = []
        while lengths.count < hlit + 257 + hdist + 1 {
            guard let symbol = decode(lengthCode) else { return nil }
            switch symbol {
            case 0..<16: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last, let r = bits(2) else { return nil }
                lengths += [Int](repeating: previous, count: 3 + r)
            case 17:
                guard let r = bits(3) else { return nil }
                lengths += [Int](repeating: 0, count: 3 + r)
            default:
                guard let r = bits(7) else { return nil }
                lengths += [Int](repeating: 0, count: 11 + r)
            }
        }
        return (Code(lengths: Array(lengths[0..<(hlit + 257)])), Code(lengths: Array(lengths[(hlit + 257)...])))
    }

    mutating func block(_ literals: Code, _ distances: Code) -> Bool {
        while true {
            guard let symbol = decode(literals) else { return false }
            if symbol < 256 {
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return true
            } else {
                let i = symbol - 257
                guard i < 29, let extra = bits(Inflater.lengthExtra[i]),
                    let d = decode(distances), d < 30, let dExtra = bits(Inflater.distanceExtra[d])
                else { return false }
                let length = Inflater.lengthBase[i] + extra
                let distance = Inflater.distanceBase[d] + dExtra
                guard distance <= output.count else { return false }
                let start = output.count - distance
                for k in 0..<length { output.append(output[start + k]) }
            }
        }
    }
}
