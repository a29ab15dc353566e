/** A ConfigMap in namespace `demo` whose `data.value` a test changes between passes. */
export const configMap = (name: string, value: string): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: demo
data:
  value: "${value}"
`;
