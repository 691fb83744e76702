package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Config is the notification settings: the engine's API per namespace,
// built from the ConfigMap and Secret as they change.
type Config struct {
	// Namespace is the controller's, where the settings every rollout
	// uses live.
	Namespace string
	// SelfService also reads the settings in each rollout's own namespace
	// (--self-service-notification-enabled).
	SelfService bool

	factory api.Factory
	configs cache.SharedIndexInformer
	secrets cache.SharedIndexInformer
}

// Vars is the engine's template variables for one configuration
// (api.Settings.InitGetVars).
type Vars func(cfg *api.Config, cm *corev1.ConfigMap, secret *corev1.Secret) (api.GetVars, error)

// NewConfig watches the two objects by name, in the controller's namespace
// or, for self-service, in every namespace: nothing else of ConfigMaps and
// Secrets is read or cached. Start must run before the settings are used.
func NewConfig(cs typedcorev1.CoreV1Interface, namespace string, selfService bool, vars Vars) *Config {
	watchNS := namespace
	if selfService {
		watchNS = metav1.NamespaceAll
	}
	byName := func(name string) func(*metav1.ListOptions) {
		return func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}
	}
	c := &Config{Namespace: namespace, SelfService: selfService}
	c.configs = informer(&corev1.ConfigMap{}, byName(ConfigMapName),
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return cs.ConfigMaps(watchNS).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.ConfigMaps(watchNS).Watch(ctx, o)
		})
	c.secrets = informer(&corev1.Secret{}, byName(SecretName),
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return cs.Secrets(watchNS).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.Secrets(watchNS).Watch(ctx, o)
		})
	c.factory = api.NewFactory(api.Settings{ConfigMapName: ConfigMapName, SecretName: SecretName, InitGetVars: vars},
		namespace, c.secrets, c.configs)
	return c
}

func informer(obj runtime.Object, tweak func(*metav1.ListOptions),
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			return watchFn(ctx, o)
		},
	}
	return cache.NewSharedIndexInformer(lw, obj, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

// OnChange calls f after any change of the settings. The engine drops what
// it built from the old ones in a handler of its own, maybe after f: a retry
// f starts may still see the old settings, and then backs off from 1 s.
func (c *Config) OnChange(f func()) {
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { f() },
		UpdateFunc: func(any, any) { f() },
		DeleteFunc: func(any) { f() },
	}
	_, _ = c.configs.AddEventHandler(h)
	_, _ = c.secrets.AddEventHandler(h)
}

// Start runs the watches until ctx ends and waits for their first lists.
func (c *Config) Start(ctx context.Context) error {
	go c.configs.RunWithContext(ctx)
	go c.secrets.RunWithContext(ctx)
	sync, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(sync.Done(), c.configs.HasSynced, c.secrets.HasSynced) {
		return fmt.Errorf("read the notification settings (ConfigMap %s, Secret %s): not listed within 2 minutes; check the controller may list and watch them", ConfigMapName, SecretName)
	}
	return nil
}

// APIs are the engine's APIs that apply to a rollout in namespace, by the
// namespace of their settings: the controller's, and with self-service the
// rollout's own. An error names the settings that cannot be used and the
// key at fault; the APIs that could be built come with it.
func (c *Config) APIs(namespace string) (map[string]api.API, error) {
	if !c.SelfService || namespace == c.Namespace {
		a, err := c.factory.GetAPI()
		if err != nil {
			return nil, c.explain(c.Namespace)
		}
		return map[string]api.API{c.Namespace: a}, nil
	}
	apis, err := c.factory.GetAPIsFromNamespace(namespace)
	if err != nil {
		var errs []error
		for _, ns := range []string{namespace, c.Namespace} {
			if apis[ns] == nil {
				errs = append(errs, c.explain(ns))
			}
		}
		return apis, errors.Join(errs...)
	}
	return apis, nil
}

// explain finds which key of the settings in namespace the engine cannot
// use, by building them one key at a time: the engine's own errors do not
// always name it.
func (c *Config) explain(namespace string) error {
	cm, secret := c.objects(namespace)
	where := fmt.Sprintf("ConfigMap %s/%s", namespace, ConfigMapName)
	if cm == nil {
		cm = &corev1.ConfigMap{}
	}
	if secret == nil {
		secret = &corev1.Secret{}
	}
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		one := cm.DeepCopy()
		one.Data = map[string]string{k: cm.Data[k]}
		// A template or trigger alone is checked; subscriptions and
		// defaults alone parse or not.
		cfg, err := api.ParseConfig(one, secret)
		if err == nil {
			_, err = api.NewAPI(*cfg, nil)
		}
		if err != nil {
			return fmt.Errorf("%s, key %q: %w; fix that key (docs/notifications.md)", where, k, err)
		}
	}
	cfg, err := api.ParseConfig(cm, secret)
	if err == nil {
		_, err = api.NewAPI(*cfg, nil)
	}
	if err != nil {
		return fmt.Errorf("%s: %w (docs/notifications.md)", where, err)
	}
	return fmt.Errorf("%s could not be read; see the controller's log", where)
}

// objects are the settings in namespace, from the watches.
func (c *Config) objects(namespace string) (*corev1.ConfigMap, *corev1.Secret) {
	var cm *corev1.ConfigMap
	var secret *corev1.Secret
	if o, ok, _ := c.configs.GetIndexer().GetByKey(namespace + "/" + ConfigMapName); ok {
		cm = o.(*corev1.ConfigMap)
	}
	if o, ok, _ := c.secrets.GetIndexer().GetByKey(namespace + "/" + SecretName); ok {
		secret = o.(*corev1.Secret)
	}
	return cm, secret
}

// Redact is err's text without the values of the Secret of the settings in
// namespace, nor the path of a URL it names.
func (c *Config) Redact(namespace string, err error) string {
	_, secret := c.objects(namespace)
	return redact(err, secret)
}

// EngineLog silences the engine's own log (it logs with logrus): every
// failure reaches Aviary as an error, logged once with its context and its
// secrets removed there, while the engine's lines may quote a service's
// URL and the request they sent.
func EngineLog() {
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.PanicLevel) // nor format what is discarded
}
