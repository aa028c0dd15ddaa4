package dev.reach

/**
 * Schedules OS local notifications for campaigns whose `channels` list `local_notification`: a
 * delayed campaign ("come back in 30 min") reaches a person who left the app through the OS
 * instead of a popup. Set it with [Reach.setNotificationScheduler]:
 *
 * ```
 * reach.setNotificationScheduler(object : NotificationScheduler {
 *     override fun schedule(notification: LocalNotification) {
 *         // AlarmManager / WorkManager at notification.fireAtMs, then NotificationManager.notify,
 *         // with notification.notificationId in the tap's Intent extras.
 *     }
 *     override fun cancel(notificationId: String) { /* cancel the alarm and the notification */ }
 * })
 * // When the person taps it (the Intent that opens the app):
 * reach.notificationTapped(intent.getStringExtra("reach_notification_id")!!)
 * ```
 *
 * When the app goes to the background with such a delay pending, Reach calls [schedule] with the
 * due time (moved out of the pack's quiet hours, only when the campaign's caps allow it) and the
 * campaign's notification text, already localised. It calls [cancel] when the delay is cancelled
 * (a `cancel_on` event, [Reach.reset], consent denied) or the app returns before the time came; a
 * notification whose time came counts as the campaign's impression, and a tap reported with
 * [Reach.notificationTapped] as its click.
 *
 * **Threading.** Called on Reach's own `reach-notifications` thread, never on the UI thread, one
 * call at a time. **Errors.** An exception is reported to Reach's log sink and changes nothing else
 * (the delayed popup still shows in the app if the person returns).
 */
interface NotificationScheduler {
    fun schedule(notification: LocalNotification)
    fun cancel(notificationId: String)
}

/**
 * Adapts a [NotificationScheduler] to the generated interface: an exception thrown by the host's
 * code becomes a `CallbackException`, which Reach logs, instead of an unexpected callback error.
 */
internal class NotificationSchedulerAdapter(private val scheduler: NotificationScheduler) :
    dev.reach.ffi.NotificationScheduler {
    override fun schedule(notification: LocalNotification) = guarded { scheduler.schedule(notification) }

    override fun cancel(notificationId: String) = guarded { scheduler.cancel(notificationId) }

    private inline fun guarded(block: () -> Unit) {
        try {
            block()
        } catch (e: VirtualMachineError) {
            throw e
        } catch (e: dev.reach.ffi.CallbackException) {
            throw e
        } catch (e: Throwable) {
            throw dev.reach.ffi.CallbackException.Failed(detail = e.message ?: e.javaClass.name)
        }
    }
}
