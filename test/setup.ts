/**
 * No test may reach the internet: nock blocks every non-loopback connection made through
 * node:http and fetch. (undici's own Pool is not intercepted; it only ever targets the loopback
 * simulator in tests.)
 */
import nock from 'nock';

nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
