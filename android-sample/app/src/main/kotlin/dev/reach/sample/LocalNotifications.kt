package dev.reach.sample

import android.app.AlarmManager
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.os.Build
import dev.reach.LocalNotification
import dev.reach.NotificationScheduler

/**
 * Reach's local-notification fallback on Android: an inexact alarm at the due time (no exact-alarm
 * permission needed; a few minutes late is fine for "come back to your cart"), which posts the
 * notification through [NotificationManager]. Its tap opens [RegistrationActivity] with the
 * notification's id, which reports it with `Reach.notificationTapped`. Android 13+ shows nothing
 * until the person granted POST_NOTIFICATIONS (the app asks at a moment that makes sense to them).
 */
class LocalNotifications(context: Context) : NotificationScheduler {
    private val context = context.applicationContext

    override fun schedule(notification: LocalNotification) {
        val alarms = context.getSystemService(AlarmManager::class.java)
        alarms.set(AlarmManager.RTC_WAKEUP, notification.fireAtMs, alarm(notification.notificationId) {
            putExtra(EXTRA_TITLE, notification.title)
            putExtra(EXTRA_BODY, notification.body)
        })
    }

    override fun cancel(notificationId: String) {
        context.getSystemService(AlarmManager::class.java).cancel(alarm(notificationId) {})
        context.getSystemService(NotificationManager::class.java).cancel(notificationId, 0)
    }

    /** The same PendingIntent for scheduling and cancelling: same request code and component. */
    private fun alarm(id: String, extras: Intent.() -> Unit): PendingIntent =
        PendingIntent.getBroadcast(
            context,
            id.hashCode(),
            Intent(context, NotificationAlarmReceiver::class.java).putExtra(EXTRA_ID, id).apply(extras),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )

    companion object {
        const val EXTRA_ID = "reach_notification_id"
        const val EXTRA_TITLE = "reach_notification_title"
        const val EXTRA_BODY = "reach_notification_body"
        const val CHANNEL_ID = "campaigns"
    }
}

/** The alarm went off: post the notification; its tap opens the app with the id. */
class NotificationAlarmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val id = intent.getStringExtra(LocalNotifications.EXTRA_ID) ?: return
        val manager = context.getSystemService(NotificationManager::class.java)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            manager.createNotificationChannel(
                NotificationChannel(
                    LocalNotifications.CHANNEL_ID,
                    context.getString(R.string.notification_channel),
                    NotificationManager.IMPORTANCE_DEFAULT,
                ),
            )
        }
        val open = PendingIntent.getActivity(
            context,
            id.hashCode(),
            Intent(context, RegistrationActivity::class.java)
                .putExtra(LocalNotifications.EXTRA_ID, id)
                .addFlags(Intent.FLAG_ACTIVITY_SINGLE_TOP),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )
        @Suppress("DEPRECATION") // Notification.Builder(context) for API < 26.
        val builder = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            android.app.Notification.Builder(context, LocalNotifications.CHANNEL_ID)
        } else {
            android.app.Notification.Builder(context)
        }
        val notification = builder
            .setSmallIcon(android.R.drawable.ic_dialog_info)
            .setContentTitle(intent.getStringExtra(LocalNotifications.EXTRA_TITLE))
            .setContentText(intent.getStringExtra(LocalNotifications.EXTRA_BODY))
            .setContentIntent(open)
            .setAutoCancel(true)
            .build()
        manager.notify(id, 0, notification)
    }
}
