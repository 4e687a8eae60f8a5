export { TimeoutError } from '@weft/core';
export {
  BODY_EXCERPT_LIMIT,
  HttpClientError,
  HttpError,
  NetworkError,
  type SchemaIssue,
  SchemaError,
} from './errors.ts';
