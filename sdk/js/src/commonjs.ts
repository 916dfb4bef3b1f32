/**
 * The CommonJS entry: `require` answers the client class itself (`const Dumont = require(…)`), which
 * also carries every export by name (`const { DumontClient, RateLimitError } = require(…)`).
 */
import * as sdk from "./index.js";

const Dumont = Object.assign(sdk.DumontClient, sdk, { default: sdk.DumontClient });

export = Dumont;
