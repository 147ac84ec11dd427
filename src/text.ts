/** A value as text for a key or a message: objects as JSON, never "[object Object]". */
export function text(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return '';
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'symbol':
      return value.toString();
    case 'function':
      return '[function]';
    default:
      return value === null ? '' : JSON.stringify(value);
  }
}
