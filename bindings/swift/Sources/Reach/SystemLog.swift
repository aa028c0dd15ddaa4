// Reach's log lines in the unified system log (Console.app, `log stream`), where iOS
// developers look first. Compiled only where the `os` module exists (Apple platforms):
// the wrapper stays Foundation-only on Linux.

#if canImport(os)
    import os
    import ReachFFI

    extension Reach {
        /// A log handler writing to `os.Logger(subsystem:category:)`:
        ///
        ///     try Reach.setup(config: config, logSink: Reach.systemLogSink())
        ///
        /// Reach's lines are diagnostics for the app's developer (refused events with
        /// their reason, storage and upload trouble), logged `.public` so Console shows
        /// them without a logging profile.
        /// Called on Reach's worker thread; `Logger` is thread-safe.
        @available(iOS 14.0, macOS 11.0, tvOS 14.0, watchOS 7.0, *)
        public static func systemLogSink(
            subsystem: String = "dev.reach", category: String = "Reach"
        ) -> LogHandler {
            let logger = Logger(subsystem: subsystem, category: category)
            return { level, message in
                switch level {
                case .error: logger.error("\(message, privacy: .public)")
                case .warn: logger.warning("\(message, privacy: .public)")
                case .info: logger.info("\(message, privacy: .public)")
                case .debug: logger.debug("\(message, privacy: .public)")
                }
            }
        }
    }
#endif
