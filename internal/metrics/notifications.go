package metrics

var notificationLabels = append(append([]string{}, rolloutLabels...), "type", "reason")

var (
	// NotificationSendSuccess is notification_send_success: notifications
	// a service accepted, by the Rollout and the event (type, reason) that
	// triggered them (Argo Rollouts' name and labels).
	NotificationSendSuccess = NewCounterVec("notification_send_success", "Notification send success.", notificationLabels)
	// NotificationSendError is notification_send_error: attempts that
	// failed, each retried (internal/notify), and notifications that could
	// not be attempted (an invalid configuration).
	NotificationSendError = NewCounterVec("notification_send_error", "Error sending the notification", notificationLabels)
	// NotificationSend is notification_send: how long one send took, in
	// seconds (Argo Rollouts' name and buckets).
	NotificationSend = NewHistogramVec("notification_send", "Notification send performance.",
		[]float64{0.01, 0.15, .25, .5, 1}, rolloutLabels)
)
