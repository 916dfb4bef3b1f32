// The one SDK, @dumont/cloud, under this name: one copy of the classes whichever name is imported.
export * from "@dumont/cloud";
