package framework

// TwoTemplateExperiment is an Experiment NAME with a baseline (two
// replicas) on the stable image and a canary on image CANARY with a
// Service, running DURATION once available. Tests fill the placeholders
// and may edit it further (labels, replicas, analyses).
const TwoTemplateExperiment = `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: NAME
spec:
  duration: DURATION
  scaleDownDelaySeconds: 3
  templates:
  - name: baseline
    replicas: 2
    selector:
      matchLabels: {app: demo, role: baseline}
    template:
      metadata:
        labels: {app: demo, role: baseline}
      spec:
        containers:
        - name: demo
          image: argoproj/rollouts-demo:blue
          ports: [{name: http, containerPort: 8080}]
  - name: canary
    selector:
      matchLabels: {app: demo, role: canary}
    service: {}
    template:
      metadata:
        labels: {app: demo, role: canary}
      spec:
        containers:
        - name: demo
          image: CANARY
          ports: [{name: http, containerPort: 8080}]
`
