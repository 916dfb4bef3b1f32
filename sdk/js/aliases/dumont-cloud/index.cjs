// `require` answers the client class itself, as @dumont/cloud's does.
module.exports = require("@dumont/cloud");
