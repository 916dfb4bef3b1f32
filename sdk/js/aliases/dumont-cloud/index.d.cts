import Dumont = require("@dumont/cloud");
export = Dumont;
