export type { Notification, NotificationBase, NotificationType, Notifier } from './notifier.js';
export type { NotifyOnOptions, NotifySubscription, NotifySource, NotifiableEvent, FleetPassEvent } from './notify-on.js';
export { notifyOn } from './notify-on.js';
export { NotifyError } from './notify-error.js';
export type { WebhookNotifierOptions, WebhookPayload } from './webhook-notifier.js';
export { webhookNotifier, SIGNATURE_HEADER } from './webhook-notifier.js';
