'use strict';
// require() of the ESM-only packages: Node >= 20.19 loads ES modules synchronously.
const core = require('@weft/core');
const http = require('@weft/http');
const dbSim = require('@weft/db-sim');
const redis = require('@weft/redis');
const { runChecks } = require('./checks.cjs');

runChecks({ core, http, dbSim, redis }, 'require');
