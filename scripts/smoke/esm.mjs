import * as core from '@weft/core';
import * as dbSim from '@weft/db-sim';
import * as http from '@weft/http';
import * as redis from '@weft/redis';
import checks from './checks.cjs';

await checks.runChecks({ core, http, dbSim, redis }, 'import');
