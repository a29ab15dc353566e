/**
 * The application every environment runs, as plain YAML. The same text is deployed to staging
 * and production: what differs per environment comes from substitution variables
 * (`${ENVIRONMENT}`, `${REPLICAS}`) that the environment's reconciler sets, so a promotion can
 * copy or merge the file as it is.
 */
export function appManifest(version: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
  labels: { app: shop }
data:
  environment: \${ENVIRONMENT}
  version: "${version}"
  greeting: Hello from \${ENVIRONMENT}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels:
    app: shop
    environment: \${ENVIRONMENT}
spec:
  replicas: \${REPLICAS:=1}
  selector:
    matchLabels: { app: shop }
  template:
    metadata:
      labels: { app: shop, version: "${version}" }
    spec:
      containers:
        - name: shop
          image: registry.example.com/shop:${version}
          env:
            - name: ENVIRONMENT
              value: \${ENVIRONMENT}
---
apiVersion: v1
kind: Service
metadata:
  name: shop
  labels: { app: shop }
spec:
  selector: { app: shop }
  ports:
    - port: 80
`;
}
