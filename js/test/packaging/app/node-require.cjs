// require() of the ES module package (Node >= 20.19: require(esm)).
const { AutoModelWithHeads, AdapterwasmError } = require("adapterwasm");
console.log(JSON.stringify({ model: typeof AutoModelWithHeads.fromPretrained, error: new AdapterwasmError("network", "x").code }));
