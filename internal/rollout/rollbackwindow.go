package rollout
