export * from "@dumont/cloud";
